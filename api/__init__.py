"""Ordinance api layer."""
