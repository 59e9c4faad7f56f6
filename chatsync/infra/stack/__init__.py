"""The local single-node stack (`chatsync infra`): Kafka, PostgreSQL, DynamoDB Local, S3."""
