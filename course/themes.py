"""Provides the app's themes: Textual's dark and light ones, and a high-contrast theme."""

from __future__ import annotations

from textual.theme import Theme

__all__ = ["HIGH_CONTRAST", "THEME_CYCLE"]

HIGH_CONTRAST = Theme(
    name="relaylab-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#00FFFF",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    success="#00FF00",
    warning="#FFAF00",
    error="#FF5F5F",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "footer-key-foreground": "#FFFF00",
        "input-selection-background": "#FFFF00 60%",
        "border": "#FFFFFF",
        "border-blurred": "#A0A0A0",
        "scrollbar": "#A0A0A0",
        "link-color": "#00FFFF",
    },
)
"""White on black, yellow focus, no tinted text."""

THEME_CYCLE = ("textual-dark", "textual-light", HIGH_CONTRAST.name)
"""What Ctrl+T steps through."""
