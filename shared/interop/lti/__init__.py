"""LTI 1.3 tool side: platform registrations, launches, deep linking, grade passback, rosters."""
