# Inspections, issues, meetings, alerts, rankings and bulletins arrive with the [Supervision] and
# [Rankings] issues. This app depends on `projects`; `projects` never imports it.
