"""Disaster recovery: database and file restores, the switch to a restored database, drills, status."""
