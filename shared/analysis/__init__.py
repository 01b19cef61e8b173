"""Statistics over graded attempts: item analysis and review flags."""
