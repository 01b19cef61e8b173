"""People: accounts and their administration, groups (classes, sections), who may sit which
exam (audiences), bulk imports of students, and password reset links."""
