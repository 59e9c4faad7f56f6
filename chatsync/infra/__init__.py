"""Adapters to Kafka, PostgreSQL, DynamoDB and S3, and the local stack that runs them."""
