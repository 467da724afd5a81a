"""Locale selection, and formatting of numbers, dates and money."""
