"""Accounts and money: quotas, plans and payments, the budget, spend reports, admin alerts."""
