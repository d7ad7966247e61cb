"""Prompt templates, kept as plain .txt files so they can be edited without touching code."""
