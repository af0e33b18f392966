"""Provides Exchange Online and Microsoft Entra behaviour as pure functions: (tenant state, facts) -> decision."""
