from app.contracts.settings import SERVICE_SETTINGS
from app.local.provision import LocalResources, client


def test_provision_creates_every_resource_and_is_idempotent(local_resources: LocalResources) -> None:
    from app.local.provision import provision

    again = provision(local_resources.names, local_resources.endpoint_url)
    assert again.task_queue_url == local_resources.task_queue_url
    assert again.user_pool_id == local_resources.user_pool_id
    sns = client("sns", local_resources.endpoint_url)
    subs = sns.list_subscriptions_by_topic(TopicArn=local_resources.progress_topic_arn)["Subscriptions"]
    assert len(subs) == 1


def test_env_for_each_service_holds_its_required_variables(local_resources: LocalResources) -> None:
    for service, settings_class in SERVICE_SETTINGS.items():
        env = local_resources.env_for(
            service,
            database_url="sqlite://",
            media_base_url="http://x/media",
            media_revocation_store="http://x/_local/revocations",
        )
        assert settings_class.required_env() <= set(env), service
