"""The clinic's clinicians: their records kept in step with staff accounts, and each one's "My day"."""
