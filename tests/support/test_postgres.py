import psycopg
from sqlalchemy import make_url

from tests.support.postgres import running_postgres


def test_server_starts_under_a_private_temp_dir_and_accepts_connections(tmp_path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with running_postgres(private / "pg") as url:
        parsed = make_url(url)
        with psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
