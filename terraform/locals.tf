data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# Every name in the module is built here, following docs/architecture.md.
locals {
  prefix   = "${var.project}-${var.environment}"
  is_local = var.aws_endpoint_url != ""

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  tags = merge(var.tags, {
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  })

  lake_bucket_name    = "${local.prefix}-lake-${local.account_id}"
  results_bucket_name = "${local.prefix}-athena-results-${local.account_id}"
  kms_alias_name      = "alias/${local.prefix}"

  glue_database_name   = replace("${var.project}_${var.environment}_raw", "-", "_")
  tmdb_crawler_name    = "${local.prefix}-raw-tmdb"
  csv_crawler_name     = "${local.prefix}-raw-csv"
  glue_security_config = "${local.prefix}-glue"
  athena_workgroup     = local.prefix
  refine_workgroup     = "${local.prefix}-refine"

  queue_name = "${local.prefix}-tmdb-batches"
  dlq_name   = "${local.prefix}-tmdb-batches-dlq"

  # Failure records of asynchronous invocations, and the topic every alarm notifies.
  failure_queue_name = "${local.prefix}-lambda-failures"
  alarm_topic_name   = "${local.prefix}-alarms"
  # CloudWatch namespace of the runs' embedded-metric-format lines (movielake.metrics).
  metrics_namespace = local.prefix
  alarm_actions     = concat([aws_sns_topic.alarms.arn], var.alarm_actions)
  # Functions invoked asynchronously (S3 notification, EventBridge schedule and crawler rule).
  async_functions = toset(["csv_ingest", "tmdb_planner", "refine"])
  secret_name     = "${local.prefix}/tmdb-api"

  # Lake zones and key prefixes (movielake.keys builds the same keys in Python).
  landing_prefix   = "Landing/"
  rejected_prefix  = "Rejected/"
  raw_local_prefix = "Raw/Local/"
  raw_csv_prefix   = "Raw/Local/CSV/"
  raw_tmdb_prefix  = "Raw/TMDB/"
  tmdb_json_prefix = "Raw/TMDB/JSON/Movies/"
  trusted_prefix   = "Trusted/"
  refined_prefix   = "Refined/"

  functions = {
    csv_ingest = {
      name    = "${local.prefix}-csv-ingest"
      handler = "movielake.ingest.handler.handler"
      zip     = startswith(var.csv_ingest_zip, "/") ? var.csv_ingest_zip : "${path.module}/${var.csv_ingest_zip}"
      timeout = 300
      memory  = 512
    }
    tmdb_planner = {
      name    = "${local.prefix}-tmdb-planner"
      handler = "movielake.tmdb.handlers.plan"
      zip     = startswith(var.tmdb_enrich_zip, "/") ? var.tmdb_enrich_zip : "${path.module}/${var.tmdb_enrich_zip}"
      timeout = 900
      memory  = 512
    }
    tmdb_worker = {
      name    = "${local.prefix}-tmdb-worker"
      handler = "movielake.tmdb.handlers.work"
      zip     = startswith(var.tmdb_enrich_zip, "/") ? var.tmdb_enrich_zip : "${path.module}/${var.tmdb_enrich_zip}"
      timeout = 900
      memory  = 512
    }
    # Drives Athena (CTAS, checks, Glue switch) and waits: little memory, a long timeout.
    refine = {
      name    = "${local.prefix}-refine"
      handler = "movielake.refine.handler.handler"
      zip     = startswith(var.refine_zip, "/") ? var.refine_zip : "${path.module}/${var.refine_zip}"
      timeout = 900
      memory  = 512
    }
  }

  # Least time one worker needs for a full message, at its share of the rate.
  tmdb_message_seconds = var.tmdb_ids_per_message / (var.tmdb_rate / var.tmdb_workers)

  # Filters: "off" switches a filter off (movielake.config reads it that way).
  filter_environment = {
    MOVIELAKE_MIN_YEAR  = var.min_year == null ? "off" : tostring(var.min_year)
    MOVIELAKE_MIN_VOTES = var.min_votes == null ? "off" : tostring(var.min_votes)
    MOVIELAKE_GENRES    = length(var.genres) == 0 ? "off" : join(",", [for g in var.genres : lower(trimspace(g))])
  }

  common_environment = {
    MOVIELAKE_LAKE_BUCKET        = local.lake_bucket_name
    MOVIELAKE_GLUE_DATABASE      = local.glue_database_name
    LOG_LEVEL                    = var.log_level
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
  }

  tmdb_environment = merge(local.common_environment, local.filter_environment, {
    MOVIELAKE_TMDB_SECRET_ID        = aws_secretsmanager_secret.tmdb.arn
    MOVIELAKE_TMDB_BASE_URL         = var.tmdb_base_url
    MOVIELAKE_TMDB_HTTP_CONCURRENCY = tostring(var.tmdb_http_concurrency)
    MOVIELAKE_TMDB_QUEUE_URL        = aws_sqs_queue.tmdb_batches.url
    MOVIELAKE_TMDB_CRAWLER          = local.tmdb_crawler_name
    MOVIELAKE_TMDB_IDS_PER_MESSAGE  = tostring(var.tmdb_ids_per_message)
  })

  function_environment = {
    csv_ingest = local.common_environment
    # The planner may fetch a small run inline, alone: it gets the whole rate.
    # It spreads a fan-out over at least one message per worker.
    tmdb_planner = merge(local.tmdb_environment, {
      MOVIELAKE_TMDB_RATE    = tostring(var.tmdb_rate)
      MOVIELAKE_TMDB_WORKERS = tostring(var.tmdb_workers)
    })
    # Workers run side by side (up to tmdb_workers): they share the rate.
    tmdb_worker = merge(local.tmdb_environment, {
      MOVIELAKE_TMDB_RATE = tostring(var.tmdb_rate / var.tmdb_workers)
    })
    refine = merge(local.common_environment, {
      MOVIELAKE_REFINE_WORKGROUP = local.refine_workgroup
    })
  }
}
