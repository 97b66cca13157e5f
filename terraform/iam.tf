# One least-privilege role per Lambda and one for the Glue crawlers.
locals {
  lake_arn    = aws_s3_bucket.this["lake"].arn
  crawler_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:crawler"
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.functions

  name                 = each.value.name
  description          = "Execution role of the ${each.value.name} Lambda"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  max_session_duration = 3600
}

# Statements every function needs: its own log group, and the key that encrypts its
# environment, its log group and the objects, messages and secret it touches.
data "aws_iam_policy_document" "lambda_common" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }

  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  # HeadObject on a missing key answers 404 only with s3:ListBucket, and HeadObject carries
  # no s3:prefix, so this statement cannot be narrowed with an s3:prefix condition without
  # turning "not there yet" into AccessDenied. Listing keys discloses no object content.
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_arn]
  }
}

# csv-ingest: reads Landing/, writes Raw/Local/ (compares with an existing Raw object of the
# same key first, as Raw is immutable), moves rejected files to Rejected/.
data "aws_iam_policy_document" "csv_ingest" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_common["csv_ingest"].json,
    data.aws_iam_policy_document.async_on_failure.json,
  ]

  statement {
    sid       = "ReadLandingAndRaw"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.landing_prefix}*", "${local.lake_arn}/${local.raw_local_prefix}*"]
  }

  statement {
    sid       = "WriteRawAndRejected"
    actions   = ["s3:PutObject"]
    resources = ["${local.lake_arn}/${local.raw_local_prefix}*", "${local.lake_arn}/${local.rejected_prefix}*"]
  }

  statement {
    sid       = "ClearLanding"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.landing_prefix}*"]
  }
}

# Asynchronously invoked functions (csv-ingest, planner): Lambda sends a failed event to the
# on-failure destination with the function's role (aws_lambda_function_event_invoke_config).
data "aws_iam_policy_document" "async_on_failure" {
  statement {
    sid       = "SendFailureRecords"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.lambda_failures.arn]
  }
}

# Statements shared by the TMDB planner and worker.
data "aws_iam_policy_document" "tmdb_common" {
  statement {
    sid       = "ReadIngestedCsv"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.raw_csv_prefix}*"]
  }

  statement {
    sid       = "ReadWriteTmdbRaw"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.lake_arn}/${local.raw_tmdb_prefix}*"]
  }

  # Run bookkeeping (plan, done markers, error parts) is cleaned up once merged.
  statement {
    sid       = "ClearRunBookkeeping"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.tmdb_json_prefix}*/_run/*"]
  }

  statement {
    sid       = "ReadTmdbSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.tmdb.arn]
  }

  statement {
    sid       = "StartTmdbCrawler"
    actions   = ["glue:StartCrawler", "glue:GetCrawler"]
    resources = ["${local.crawler_arn}/${local.tmdb_crawler_name}"]
  }
}

data "aws_iam_policy_document" "tmdb_planner" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_common["tmdb_planner"].json,
    data.aws_iam_policy_document.tmdb_common.json,
    data.aws_iam_policy_document.async_on_failure.json,
  ]

  statement {
    sid       = "FanOutBatches"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.tmdb_batches.arn]
  }
}

data "aws_iam_policy_document" "tmdb_worker" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_common["tmdb_worker"].json,
    data.aws_iam_policy_document.tmdb_common.json,
  ]

  # What the SQS event source mapping needs from the function's role.
  statement {
    sid = "ConsumeBatches"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.tmdb_batches.arn]
  }
}

locals {
  lambda_policies = {
    csv_ingest   = data.aws_iam_policy_document.csv_ingest.json
    tmdb_planner = data.aws_iam_policy_document.tmdb_planner.json
    tmdb_worker  = data.aws_iam_policy_document.tmdb_worker.json
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.functions

  name   = "${each.value.name}-access"
  role   = aws_iam_role.lambda[each.key].id
  policy = local.lambda_policies[each.key]
}

################################################################################
# Glue crawlers
################################################################################

data "aws_iam_policy_document" "glue_assume" {
  statement {
    sid     = "GlueAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "glue_crawler" {
  name                 = "${local.prefix}-glue-crawler"
  description          = "Role of the ${local.prefix} Glue crawlers (read Raw, write the catalog)"
  assume_role_policy   = data.aws_iam_policy_document.glue_assume.json
  max_session_duration = 3600
}

# Catalog writes and crawler logging as AWS maintains them for crawlers. Not on the local
# stack: moto ships no AWS managed policies (the attachment fails there) and enforces no IAM.
resource "aws_iam_role_policy_attachment" "glue_service" {
  count = local.is_local ? 0 : 1

  role       = aws_iam_role.glue_crawler.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSGlueServiceRole"
}

# What the managed policy does not cover: reading this lake's Raw zone through its KMS key,
# and encrypting the crawler logs with it (security configuration in glue.tf).
data "aws_iam_policy_document" "glue_crawler" {
  statement {
    sid       = "EncryptCrawlerLogs"
    actions   = ["logs:AssociateKmsKey"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*"]
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_arn]
  }

  statement {
    sid       = "ReadRaw"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/Raw/*"]
  }

  statement {
    sid       = "DecryptLake"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "glue_crawler" {
  name   = "${local.prefix}-glue-crawler-access"
  role   = aws_iam_role.glue_crawler.id
  policy = data.aws_iam_policy_document.glue_crawler.json
}
