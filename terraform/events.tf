# Optional schedule for the TMDB planner (tmdb_schedule_expression = "" creates nothing), and
# the refine after each successful TMDB crawl.
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

# The TMDB crawler's run succeeded (the planner starts it when a run's last batch is written):
# Glue emits this event to the default bus; the refine Lambda rebuilds Trusted and Refined.
resource "aws_cloudwatch_event_rule" "refine_after_tmdb_crawl" {
  name        = "${local.prefix}-refine-after-tmdb-crawl"
  description = "Runs the movielake refine when the TMDB crawler run succeeds"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Crawler State Change"]
    detail = {
      crawlerName = [local.tmdb_crawler_name]
      state       = ["Succeeded"]
    }
  })
}

resource "aws_cloudwatch_event_target" "refine_after_tmdb_crawl" {
  rule      = aws_cloudwatch_event_rule.refine_after_tmdb_crawl.name
  target_id = "refine"
  arn       = aws_lambda_function.this["refine"].arn
}

resource "aws_lambda_permission" "events_invokes_refine" {
  statement_id  = "AllowTmdbCrawlEventInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["refine"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.refine_after_tmdb_crawl.arn
}
