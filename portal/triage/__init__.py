"""Triage: the questionnaire, the rule set `rlsvein-1` that routes each answer set, its pages."""
