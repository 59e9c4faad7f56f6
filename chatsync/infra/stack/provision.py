"""After the servers answer: topics, database and migrations, the DynamoDB table, the S3 bucket."""

from __future__ import annotations

import logging

import asyncpg
from botocore.exceptions import ClientError
from sqlalchemy.engine import make_url

from chatsync.infra.aws import dynamodb_client, s3_client
from chatsync.infra.db import migrate
from chatsync.infra.dynamodb import messages_table_definition
from chatsync.infra.kafka import ensure_topics
from chatsync.settings import Settings
from chatsync.topics import declared_topics

log = logging.getLogger(__name__)


async def provision(settings: Settings) -> None:
    """Create whatever is missing; running it again changes nothing."""
    created = await ensure_topics(settings.kafka_bootstrap_servers, declared_topics(settings))
    if created:
        log.info("created topics %s", ", ".join(created))
    await ensure_database(settings)
    await migrate(settings)
    await ensure_messages_table(settings)
    await ensure_bucket(settings)


async def ensure_messages_table(settings: Settings) -> None:
    async with dynamodb_client(settings) as client:
        try:
            await client.create_table(**messages_table_definition(settings.dynamodb_messages_table))
            log.info("created DynamoDB table %s", settings.dynamodb_messages_table)
        except client.exceptions.ResourceInUseException:
            return


async def ensure_bucket(settings: Settings) -> None:
    async with s3_client(settings) as client:
        try:
            await client.head_bucket(Bucket=settings.s3_bucket)
        except ClientError:
            await client.create_bucket(Bucket=settings.s3_bucket)
            log.info("created S3 bucket %s", settings.s3_bucket)


async def ensure_database(settings: Settings) -> None:
    """Create the application database when the server does not have it yet."""
    url = make_url(settings.sqlalchemy_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database="postgres", timeout=10,
    )  # fmt: skip
    try:
        if not await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", url.database
        ):
            quoted = (url.database or "").replace('"', '""')
            await connection.execute(f'CREATE DATABASE "{quoted}"')
            log.info("created database %s", url.database)
    finally:
        await connection.close()
