"""Item analysis and review flag shapes."""

import marshmallow as ma

_STAT = {"description": "null when undefined (see docs/item-analysis-and-flags.md)"}


def _float(description: str) -> ma.fields.Float:
    return ma.fields.Float(required=True, allow_none=True, metadata={"description": description})


class OptionCountSchema(ma.Schema):
    id = ma.fields.String(
        required=True, metadata={"description": "Option id; true/false: true, false"}
    )
    text = ma.fields.String(required=True)
    correct = ma.fields.Boolean(required=True, metadata={"description": "Part of today's key"})
    chosen = ma.fields.Integer(required=True, metadata={"description": "Attempts that chose it"})


class QuestionStatsSchema(ma.Schema):
    question_id = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    prompt = ma.fields.String(required=True)
    position = ma.fields.Integer(required=True, metadata={"description": "Its entry in the exam"})
    max_points = ma.fields.Float(required=True)
    attempts = ma.fields.Integer(
        required=True, metadata={"description": "Graded attempts that got it"}
    )
    pending = ma.fields.Integer(
        required=True, metadata={"description": "Of them, not graded by hand yet"}
    )
    omitted = ma.fields.Integer(required=True, metadata={"description": "Of them, left unanswered"})
    mean_points = _float("Mean points awarded")
    facility = _float("Mean fraction of the points awarded (0..1)")
    discrimination = _float("Facility in the upper 27 % by total score minus the lower 27 %")
    point_biserial = _float(
        "Correlation of the item's points with the total minus the item (corrected)"
    )
    options = ma.fields.List(
        ma.fields.Nested(OptionCountSchema),
        required=True,
        metadata={"description": "Choice questions only (empty for others)"},
    )


class HistogramBinSchema(ma.Schema):
    from_percent = ma.fields.Integer(required=True)
    to_percent = ma.fields.Integer(required=True, metadata={"description": "Exclusive but 100"})
    count = ma.fields.Integer(required=True)


class ItemAnalysisSchema(ma.Schema):
    attempts = ma.fields.Integer(required=True, metadata={"description": "Graded attempts"})
    mean = _float("Mean total score (points)")
    median = _float("Median total score")
    stdev = _float("Population standard deviation of the total scores")
    reliability = _float("Cronbach's alpha (KR-20 for 0/1 items); null: undefined")
    reliability_items = ma.fields.Integer(
        required=True, metadata={"description": "Questions alpha was computed over"}
    )
    histogram = ma.fields.List(ma.fields.Nested(HistogramBinSchema), required=True)
    questions = ma.fields.List(ma.fields.Nested(QuestionStatsSchema), required=True)


class FlagSchema(ma.Schema):
    attempt_id = ma.fields.UUID(required=True)
    student_name = ma.fields.String(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={"description": "concurrent_devices, fast_high_score or similar_answers"},
    )
    detail = ma.fields.String(required=True, metadata={"description": "The evidence, in words"})
    score = ma.fields.Float(
        required=True, metadata={"description": "Higher: more striking (compare within a kind)"}
    )
    related_attempt_id = ma.fields.UUID(
        required=True, allow_none=True, metadata={"description": "similar_answers: the other"}
    )
