"""Interoperability: question bank formats (GIFT, Moodle XML, QTI 2.1) and LTI 1.3."""
