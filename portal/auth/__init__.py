"""Accounts: users, roles, passwords, register/login/logout, role guards."""
