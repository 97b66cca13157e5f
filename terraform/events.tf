# Optional schedule for the TMDB planner (tmdb_schedule_expression = "" creates nothing).
locals {
  schedule_enabled = var.tmdb_schedule_expression != ""
}

resource "aws_cloudwatch_event_rule" "tmdb_schedule" {
  count = local.schedule_enabled ? 1 : 0

  name                = "${local.prefix}-tmdb-schedule"
  description         = "Runs the movielake TMDB planner on a schedule"
  schedule_expression = var.tmdb_schedule_expression
}

resource "aws_cloudwatch_event_target" "tmdb_schedule" {
  count = local.schedule_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.tmdb_schedule[0].name
  target_id = "tmdb-planner"
  arn       = aws_lambda_function.this["tmdb_planner"].arn
}

resource "aws_lambda_permission" "events_invokes_tmdb_planner" {
  count = local.schedule_enabled ? 1 : 0

  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["tmdb_planner"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.tmdb_schedule[0].arn
}
