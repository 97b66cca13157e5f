resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

# Every alarm notifies this topic (plus var.alarm_actions); var.alarm_emails subscribe to it.
resource "aws_sns_topic" "alarms" {
  name              = local.alarm_topic_name
  display_name      = "movielake ${var.environment} alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

# CloudWatch alarms of this account publish to the topic (the key policy lets them use the key).
resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        # The crawler-failed rule (events.tf) delivers Glue's event to the topic.
        Sid       = "CrawlerFailedRulePublishes"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = {
          ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.crawler_failed.arn }
        }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "alarm_emails" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# Every alarm of the deployment; each notifies local.alarm_actions (the alarms topic first).
# - <function>-errors: any error of a function. csv-ingest and the planner are invoked
#   asynchronously (S3, EventBridge), so an error there is otherwise only a log line and a
#   failure record. No invocation means no error (missing data is not breaching).
# - <queue>-not-empty: queues whose every message is a failure: the TMDB dead-letter queue (a
#   batch that failed dlq_max_receive_count times) and the failure records of asynchronous
#   invocations whose retries are exhausted. SQS stops publishing a queue's metrics while it
#   is inactive, which such a queue soon is: missing data keeps the last state ("ignore"), so
#   an alarm raised stays raised until the queue is emptied.
locals {
  function_error_alarms = {
    for key, f in local.functions : "${key}_errors" => {
      name        = "${f.name}-errors"
      description = "${f.name} raised errors: read its log group /aws/lambda/${f.name}; failed async invocations are in ${local.failure_queue_name}."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = f.name }
      statistic   = "Sum"
      missing     = "notBreaching"
    }
  }

  queue_alarms = {
    tmdb_dlq_not_empty = {
      queue       = aws_sqs_queue.tmdb_batches_dlq.name
      description = "TMDB batch messages reached ${local.dlq_name}: inspect them, fix the cause, redrive."
    }
    lambda_failures_not_empty = {
      queue       = aws_sqs_queue.lambda_failures.name
      description = "An asynchronous invocation failed after its retries: its event and error are in ${local.failure_queue_name}."
    }
  }

  alarms = merge(local.function_error_alarms, {
    for key, q in local.queue_alarms : key => {
      name        = "${q.queue}-not-empty"
      description = q.description
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = q.queue }
      statistic   = "Maximum"
      missing     = "ignore"
    }
  })
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

moved {
  from = aws_cloudwatch_metric_alarm.tmdb_dlq_not_empty
  to   = aws_cloudwatch_metric_alarm.this["tmdb_dlq_not_empty"]
}

# No successful refine for refine_staleness_hours: the answers have stopped changing. The refine
# emits RefineSucceeded (1, or 0 when it fails) in the embedded metric format
# (movielake.refine.metrics); an hour without the metric is missing data, counted as
# breaching, so a refine that never runs (a crawl event lost, the rule broken) raises it too.
# With the daily TMDB schedule, keep the hours above 24 plus a crawl and a refine.
resource "aws_cloudwatch_metric_alarm" "refine_stale" {
  alarm_name          = "${local.prefix}-refine-stale"
  alarm_description   = "No successful refine for ${var.refine_staleness_hours} h: check the crawlers (the crawler-failed rule), the refine's log group /aws/lambda/${local.functions.refine.name} and its manifests under Refined/_refine/."
  namespace           = local.metrics_namespace
  metric_name         = "RefineSucceeded"
  dimensions          = { service = "refine" }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.refine_staleness_hours
  datapoints_to_alarm = var.refine_staleness_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The runs' metrics (embedded metric format, movielake.metrics) and the alarms, on one page.
locals {
  metric_widgets = {
    "TMDB run: ids"             = [for m in ["IdsSelected", "IdsSkipped", "IdsFetched", "IdsFailed"] : [local.metrics_namespace, m, "service", "tmdb"]]
    "TMDB run: achieved rate"   = [[local.metrics_namespace, "RequestsPerSecond", "service", "tmdb", { stat = "Maximum" }]]
    "Refine: succeeded, checks" = [for m in ["RefineSucceeded", "ChecksFailed"] : [local.metrics_namespace, m, "service", "refine"]]
  }
  search_widgets = {
    "TMDB run: ids failed by reason" = "SEARCH('{${local.metrics_namespace},service,reason} MetricName=\"IdsFailed\"', 'Sum', 86400)"
    "Refine: rows in by table"       = "SEARCH('{${local.metrics_namespace},service,table} MetricName=\"RowsIn\"', 'Maximum', 86400)"
    "Refine: rows out by table"      = "SEARCH('{${local.metrics_namespace},service,table} MetricName=\"RowsOut\"', 'Maximum', 86400)"
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({
    widgets = concat(
      [for title, metrics in local.metric_widgets : {
        type       = "metric", width = 8, height = 6
        properties = { title = title, region = local.region, stat = "Sum", period = 86400, view = "timeSeries", metrics = metrics }
      }],
      [for title, expression in local.search_widgets : {
        type       = "metric", width = 8, height = 6
        properties = { title = title, region = local.region, period = 86400, view = "timeSeries", metrics = [[{ expression = expression, id = "e1" }]] }
      }],
      [{
        type = "alarm", width = 24, height = 4
        properties = {
          title  = "Alarms"
          alarms = concat([for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn], [aws_cloudwatch_metric_alarm.refine_stale.arn])
        }
      }],
    )
  })
}
