################################################################################
# Naming and target
################################################################################

variable "project" {
  description = "Project name; first part of every resource name (`<project>-<environment>`)."
  type        = string
  default     = "movielake"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 lowercase letters, digits or dashes, starting with a letter (it ends up in S3 bucket names)."
  }
}

variable "environment" {
  description = "Deployment environment (dev, prod, local, ...); second part of every resource name."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.environment))
    error_message = "environment must be 1-12 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like an AWS region name, e.g. us-east-1."
  }
}

variable "aws_endpoint_url" {
  description = "Single endpoint URL for every AWS service (the local moto stack, e.g. http://127.0.0.1:5000). Empty means real AWS."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_endpoint_url == "" || can(regex("^https?://", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be empty or an http(s) URL."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (on top of project/environment/managed-by)."
  type        = map(string)
  default     = {}
}

################################################################################
# Lambda packages and runtime
################################################################################

variable "csv_ingest_zip" {
  description = "Path of the csv-ingest Lambda zip (built by scripts/build_lambdas.sh); relative paths are relative to this module."
  type        = string
  default     = "../build/csv_ingest.zip"
}

variable "tmdb_enrich_zip" {
  description = "Path of the TMDB planner/worker Lambda zip (built by scripts/build_lambdas.sh); relative paths are relative to this module."
  type        = string
  default     = "../build/tmdb_enrich.zip"
}

variable "refine_zip" {
  description = "Path of the refine Lambda zip (built by scripts/build_lambdas.sh; under Lambda's 50 MB direct-upload limit); relative paths are relative to this module."
  type        = string
  default     = "../build/refine.zip"
}

variable "refine_reserved_concurrency" {
  description = "Reserved concurrency of the refine Lambda: 1 runs one refine at a time (a second invocation is throttled and Lambda retries it later), -1 reserves none, for accounts whose concurrency limit leaves nothing to reserve (the refine lease still keeps refines one at a time; the second then waits for the lease or fails with a LeaseHeldError)."
  type        = number
  default     = 1

  validation {
    condition     = contains([-1, 1], var.refine_reserved_concurrency)
    error_message = "refine_reserved_concurrency must be 1 (one refine at a time) or -1 (none reserved)."
  }
}

variable "superseded_version_expiration_days" {
  description = "Days after which the objects of a superseded Trusted/Refined table version (tagged movielake-superseded by the refine) expire; queries that started on the old version have that long to finish."
  type        = number
  default     = 1

  validation {
    condition     = var.superseded_version_expiration_days >= 1
    error_message = "superseded_version_expiration_days must be at least 1."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambdas; must match the Python the zips were built for (scripts/build_lambdas.py LAMBDA_PYTHON)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[2-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.12 or newer (python3.11 is past its Lambda deprecation date, 2026-06-30)."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambdas; build the zips for it (scripts/build_lambdas.sh --architecture, default x86_64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the Lambdas' JSON logs."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

################################################################################
# TMDB enrichment
################################################################################

variable "tmdb_base_url" {
  description = "Base URL of the TMDB API (MOVIELAKE_TMDB_BASE_URL)."
  type        = string
  default     = "https://api.themoviedb.org"

  validation {
    condition     = can(regex("^https?://", var.tmdb_base_url))
    error_message = "tmdb_base_url must be an http(s) URL."
  }
}

variable "tmdb_rate" {
  description = "Total TMDB requests per second across all workers; each worker gets tmdb_rate / tmdb_workers."
  type        = number
  default     = 40

  validation {
    condition     = var.tmdb_rate > 0 && var.tmdb_rate <= 50
    error_message = "tmdb_rate must be > 0 and <= 50 (TMDB's documented limit is about 50 req/s per IP)."
  }
}

variable "tmdb_http_concurrency" {
  description = "In-flight TMDB requests per Lambda invocation (MOVIELAKE_TMDB_HTTP_CONCURRENCY)."
  type        = number
  default     = 20

  validation {
    condition     = var.tmdb_http_concurrency >= 1 && var.tmdb_http_concurrency <= 100 && floor(var.tmdb_http_concurrency) == var.tmdb_http_concurrency
    error_message = "tmdb_http_concurrency must be an integer between 1 and 100."
  }
}

variable "tmdb_workers" {
  description = "Maximum concurrent tmdb-worker invocations (SQS event source maximum_concurrency, at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.tmdb_workers >= 2 && var.tmdb_workers <= 1000 && floor(var.tmdb_workers) == var.tmdb_workers
    error_message = "tmdb_workers must be an integer between 2 and 1000 (AWS minimum for maximum_concurrency is 2)."
  }
}

variable "tmdb_ids_per_message" {
  description = "Film ids per SQS message of the fan-out path (MOVIELAKE_TMDB_IDS_PER_MESSAGE)."
  type        = number
  default     = 2000

  validation {
    condition     = var.tmdb_ids_per_message >= 1 && var.tmdb_ids_per_message <= 10000 && floor(var.tmdb_ids_per_message) == var.tmdb_ids_per_message
    error_message = "tmdb_ids_per_message must be an integer between 1 and 10000 (one worker must finish a message within its timeout)."
  }
}

variable "min_year" {
  description = "Only films released after this year (strictly) are enriched (MOVIELAKE_MIN_YEAR); null switches the filter off."
  type        = number
  default     = 1960
  nullable    = true

  validation {
    condition     = var.min_year == null || try(var.min_year >= 1870 && var.min_year <= 2100, false)
    error_message = "min_year must be null or a year between 1870 and 2100."
  }
}

variable "min_votes" {
  description = "Only films with more than this many votes (strictly) are enriched (MOVIELAKE_MIN_VOTES); null switches the filter off."
  type        = number
  default     = 10000
  nullable    = true

  validation {
    condition     = var.min_votes == null || try(var.min_votes >= 0, false)
    error_message = "min_votes must be null or >= 0."
  }
}

variable "genres" {
  description = "Only films with one of these genres are enriched (MOVIELAKE_GENRES, case-insensitive); an empty list switches the filter off."
  type        = list(string)
  default     = ["crime", "war"]

  validation {
    condition     = alltrue([for g in var.genres : length(trimspace(g)) > 0 && !strcontains(g, ",")])
    error_message = "genres must be non-empty names without commas."
  }
}

variable "tmdb_schedule_expression" {
  description = "EventBridge schedule that runs the TMDB planner, e.g. \"cron(0 6 * * ? *)\"; empty means no schedule."
  type        = string
  default     = ""

  validation {
    condition     = var.tmdb_schedule_expression == "" || can(regex("^(rate|cron)\\(.+\\)$", var.tmdb_schedule_expression))
    error_message = "tmdb_schedule_expression must be empty, rate(...) or cron(...)."
  }
}

variable "dlq_max_receive_count" {
  description = "Deliveries of a TMDB batch message before it moves to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.dlq_max_receive_count >= 1 && var.dlq_max_receive_count <= 1000
    error_message = "dlq_max_receive_count must be between 1 and 1000."
  }
}

variable "dlq_retention_seconds" {
  description = "How long failed TMDB batch messages stay in the dead-letter queue (max 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be between 60 and 1209600."
  }
}

variable "alarm_actions" {
  description = "Extra ARNs (e.g. an existing SNS topic) every alarm notifies, besides the module's own alarms topic."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarms topic (each must confirm the subscription AWS mails it)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

################################################################################
# Storage, catalog and queries
################################################################################

variable "noncurrent_version_expiration_days" {
  description = "Days after which non-current object versions in the lake and results buckets are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be >= 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be >= 1."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted from the results bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be >= 1."
  }
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the Athena workgroup, in bytes (minimum 10 MB); queries scanning more are cancelled."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be >= 10485760 (10 MB, the AWS minimum)."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the customer-managed KMS key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "force_destroy_buckets" {
  description = "Allow `terraform destroy` to delete non-empty buckets (handy for throwaway environments, dangerous in prod)."
  type        = bool
  default     = false
}

variable "refine_staleness_hours" {
  description = "Hours without a successful refine before the <prefix>-refine-stale alarm fires (missing data counts as breaching). With the daily TMDB schedule keep it above 24."
  type        = number
  default     = 26

  validation {
    condition     = var.refine_staleness_hours >= 1 && var.refine_staleness_hours <= 168 && floor(var.refine_staleness_hours) == var.refine_staleness_hours
    error_message = "refine_staleness_hours must be a whole number of hours from 1 to 168 (CloudWatch evaluates alarms over at most 7 days)."
  }
}

################################################################################
# QuickSight (opt in; terraform/quicksight.tf)
################################################################################

variable "enable_quicksight" {
  description = "Create the QuickSight Athena data source, the data sets over refined_film_facts and refined_artist_films, the service role's access to the lake and the dashboard of the seven questions. Needs a QuickSight subscription (see README); ignored on the local stack (moto implements no QuickSight call)."
  type        = bool
  default     = false
}

variable "quicksight_principal_arn" {
  description = "ARN of the QuickSight user or group the data source, data sets and dashboard are shared with, e.g. arn:aws:quicksight:us-east-1:123456789012:group/default/analysts. Required when enable_quicksight is true."
  type        = string
  default     = ""

  validation {
    condition     = var.quicksight_principal_arn == "" || can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/[A-Za-z0-9._@-]+/.+$", var.quicksight_principal_arn))
    error_message = "quicksight_principal_arn must be empty or a QuickSight user or group ARN: arn:aws:quicksight:<region>:<account>:(user|group)/<namespace>/<name>."
  }
}

variable "quicksight_service_role_name" {
  description = "Name of the IAM role QuickSight's Athena queries run as (the subscription creates aws-quicksight-service-role-v0); it gets read access to the Refined zone, the Athena results and the KMS key."
  type        = string
  default     = "aws-quicksight-service-role-v0"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.quicksight_service_role_name))
    error_message = "quicksight_service_role_name must be an IAM role name (1-64 of letters, digits and +=,.@_-)."
  }
}
