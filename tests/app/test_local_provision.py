from app.contracts.settings import SERVICE_SETTINGS
from app.local.provision import LocalResources


def test_env_for_each_service_holds_its_required_variables(local_resources: LocalResources) -> None:
    for service, settings_class in SERVICE_SETTINGS.items():
        env = local_resources.env_for(
            service,
            database_url="sqlite://",
            media_base_url="http://x/media",
            media_revocation_store="http://x/_local/revocations",
        )
        assert settings_class.required_env() <= set(env), service
