"""Ordinance simulator layer."""
