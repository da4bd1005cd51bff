"""The `<env>-data` stack: PostgreSQL, Redis, S3 buckets, Secrets Manager secrets, workload identities."""
