"""Ordinance adapters layer."""
