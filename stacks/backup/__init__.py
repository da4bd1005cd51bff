"""`<env>-backup`: AWS Backup vaults and plan, cross-region copies of RDS backups, S3 replication."""
