"""Render an incident as markdown: one prompt per role and a coordination note."""

from coordinator.render.prompts import render_coordination, render_role_prompt, write_prompts

__all__ = ["render_coordination", "render_role_prompt", "write_prompts"]
