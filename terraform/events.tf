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

# A crawl that fails stops the chain (no Succeeded event, no refine): the operator hears of it.
# Glue's state-change events are best-effort, which is why the staleness alarm (monitoring.tf)
# watches the refine's own metric as well.
resource "aws_cloudwatch_event_rule" "crawler_failed" {
  name        = "${local.prefix}-crawler-failed"
  description = "Notifies the alarms topic when a movielake crawler run fails"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Crawler State Change"]
    detail = {
      crawlerName = [local.tmdb_crawler_name, local.csv_crawler_name]
      state       = ["Failed"]
    }
  })
}

resource "aws_cloudwatch_event_target" "crawler_failed" {
  rule      = aws_cloudwatch_event_rule.crawler_failed.name
  target_id = "alarms-topic"
  arn       = aws_sns_topic.alarms.arn
}
