"""Ordinance engine layer."""
