"""Coordinate parallel AI agent chats through a data-pipeline incident."""

__version__ = "0.1.0"
