"""LTI 1.3 tool side: platform registrations, launches, deep linking, grade passback, rosters."""


class LtiTask:
    """Task names (web and beat send them by name; the worker defines them)."""

    SEND_GRADE = "lti.send_grade"
    SEND_DUE_GRADES = "lti.send_due_grades"
    SYNC_ROSTER = "lti.sync_roster"
    PURGE_EXPIRED = "lti.purge_expired"
