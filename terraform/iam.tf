# One least-privilege role per Lambda and one for the Glue crawlers.
locals {
  lake_arn    = aws_s3_bucket.this["lake"].arn
  crawler_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:crawler"
  raw_catalog_arns = [
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
    aws_glue_catalog_database.raw.arn,
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.glue_database_name}/*",
  ]
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

  # Unused locally: the Lambda service writes the function's output to its log group with
  # these; the local runtime prints the output instead.
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

  # GetObject also authorizes HeadObject: the metadata of an existing Raw or Rejected object
  # says whether it holds this very upload (a 403 there would drop the S3 event).
  statement {
    sid     = "ReadLandingRawAndRejected"
    actions = ["s3:GetObject"]
    resources = [
      "${local.lake_arn}/${local.landing_prefix}*",
      "${local.lake_arn}/${local.raw_local_prefix}*",
      "${local.lake_arn}/${local.rejected_prefix}*",
    ]
  }

  # The validated copy to Raw (or Rejected) and the rejection note.
  statement {
    sid       = "WriteRawAndRejected"
    actions   = ["s3:PutObject"]
    resources = ["${local.lake_arn}/${local.raw_local_prefix}*", "${local.lake_arn}/${local.rejected_prefix}*"]
  }

  # Unused locally: boto3's managed copy is a multipart copy for files above its threshold
  # and aborts the upload when a part fails; the sample files are copied in one request.
  statement {
    sid       = "AbortFailedCopies"
    actions   = ["s3:AbortMultipartUpload"]
    resources = ["${local.lake_arn}/${local.raw_local_prefix}*", "${local.lake_arn}/${local.rejected_prefix}*"]
  }

  statement {
    sid       = "ClearLanding"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.landing_prefix}*"]
  }

  # movielake.ingest.partitions: the date folder of an ingested CSV becomes a partition of
  # csv_movies / csv_series (GetTable reads the declared storage descriptor it inherits), so
  # the refine sees the new date without a CSV crawl.
  statement {
    sid       = "RegisterCsvPartitions"
    actions   = ["glue:GetTable", "glue:BatchCreatePartition"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/csv_*"]
  }
}

# Asynchronously invoked functions (csv-ingest, planner, refine): Lambda sends a failed event
# to the on-failure destination with the function's role (aws_lambda_function_event_invoke_config).
data "aws_iam_policy_document" "async_on_failure" {
  # Unused locally: by the end-to-end run, in which no asynchronous invocation fails; the local
  # runtime sends the record with the role too (tests/test_local_runtime.py makes one fail).
  statement {
    sid       = "SendFailureRecords"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.lambda_failures.arn]
  }
}

# Statements shared by the TMDB planner and worker: fetching batches (the planner fetches a
# small run inline), writing them to Raw, starting the crawler when the run completes.
data "aws_iam_policy_document" "tmdb_common" {
  statement {
    sid       = "ReadWriteTmdbRaw"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.lake_arn}/${local.raw_tmdb_prefix}*"]
  }

  # A finished batch without any fetched film leaves no lote_<N>.json (movielake.tmdb.writer).
  # Unused locally: by the planner, whose inline run of the sample has no empty batch (the
  # worker deletes one in the end-to-end run's fan-out).
  statement {
    sid       = "DropEmptyBatch"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.tmdb_json_prefix}*/lote_*.json"]
  }

  statement {
    sid       = "ReadTmdbSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.tmdb.arn]
  }

  # GetCrawler: a crawl already running when the run completes is waited for, then followed
  # by another (movielake.tmdb.run.start_crawler). Unused locally: the end-to-end run finds
  # the crawler READY.
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

  # Film selection streams the newest ingested movies CSV.
  statement {
    sid       = "ReadIngestedCsv"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.raw_csv_prefix}*"]
  }

  # The planner holds the run date's lease (movielake.tmdb.lease) and deletes it when done.
  statement {
    sid       = "ReleaseRunLease"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.tmdb_json_prefix}*/_run/lease.json"]
  }

  statement {
    sid       = "FanOutBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.tmdb_batches.arn]
  }
}

data "aws_iam_policy_document" "tmdb_worker" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_common["tmdb_worker"].json,
    data.aws_iam_policy_document.tmdb_common.json,
  ]

  # What Lambda's SQS poller does with the function's role: receive, delete when processed.
  statement {
    sid       = "ConsumeBatches"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [aws_sqs_queue.tmdb_batches.arn]
  }

  # Unused locally: Lambda reads the queue's attributes when it creates or enables the event
  # source mapping (the AWS Lambda developer guide lists it among the execution role's SQS
  # permissions); the local dispatcher reads the mapping instead.
  statement {
    sid       = "ValidateEventSource"
    actions   = ["sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.tmdb_batches.arn]
  }
}

# refine: runs every model as an Athena CTAS and every check and row count as a SELECT in the
# refine workgroup, drops staging entries, switches the trusted_*/refined_* Glue tables, tags
# old versions for expiry and writes its manifest. Athena reads and writes S3, the catalog and
# the key with this role's permissions (the caller's), on AWS and in the local moto server's
# Athena alike, so the statements below cover what Athena does on the refine's behalf.
data "aws_iam_policy_document" "refine" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_common["refine"].json,
    data.aws_iam_policy_document.async_on_failure.json,
  ]

  # Athena reads the Raw objects of the source tables (tmdb_movies, csv_movies, csv_series).
  statement {
    sid       = "ReadRaw"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.tmdb_json_prefix}*", "${local.lake_arn}/${local.raw_csv_prefix}*"]
  }

  # Table versions (the Parquet objects Athena's CTAS writes under v=<run id>/) and the refine
  # manifest.
  statement {
    sid       = "WriteZones"
    actions   = ["s3:PutObject"]
    resources = ["${local.lake_arn}/${local.trusted_prefix}*", "${local.lake_arn}/${local.refined_prefix}*"]
  }

  # The movielake-superseded tag that hands old versions to the lifecycle rule
  # (movielake.refine.run).
  statement {
    sid       = "TagSupersededVersions"
    actions   = ["s3:PutObjectTagging"]
    resources = ["${local.lake_arn}/${local.trusted_prefix}*", "${local.lake_arn}/${local.refined_prefix}*"]
  }

  # Athena reads the staged Trusted tables back when it builds Refined and runs the checks.
  # Unused locally: Athena writes large CTAS outputs as multipart uploads and cleans up a failed
  # one with these two; the local Athena writes each object in one request.
  statement {
    sid       = "AthenaReadsAndAbortsZones"
    actions   = ["s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${local.lake_arn}/${local.trusted_prefix}*", "${local.lake_arn}/${local.refined_prefix}*"]
  }

  # StartQueryExecution verifies the results bucket as the caller, and Athena checks the bucket
  # of every location it reads or writes.
  statement {
    sid       = "LocateBuckets"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.lake_arn, aws_s3_bucket.this["athena_results"].arn]
  }

  # Query results and CTAS manifests under the workgroup's output location, written by Athena as
  # this role and read back as this role by GetQueryResults. Unused locally: the multipart
  # actions clean up a large result written in parts; the local Athena writes each in one request.
  statement {
    sid       = "AthenaResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.this["athena_results"].arn}/athena/*"]
  }

  # Unused locally: Athena lists its output location before it writes a query's results; the
  # local Athena writes them without listing.
  statement {
    sid       = "ListAthenaResults"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["athena_results"].arn]
  }

  # movielake.refine.athena starts each CTAS and SELECT in the refine's own workgroup (the one
  # that lets a CTAS name its external_location), waits for it and reads its rows.
  statement {
    sid       = "RunAthenaQueries"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"]
    resources = [aws_athena_workgroup.this["refine"].arn]
  }

  # The catalog as the refine and Athena read it: the source, published and staged tables, and
  # the Raw tables' partitions.
  statement {
    sid       = "ReadCatalog"
    actions   = ["glue:GetTable", "glue:GetPartitions"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/*"]
  }

  # Athena resolves the query's database. Unused locally: Athena on AWS fetches a query's
  # partitions in batches with BatchGetPartition; the local Athena lists them with GetPartitions.
  statement {
    sid       = "AthenaReadsCatalog"
    actions   = ["glue:GetDatabase", "glue:BatchGetPartition"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/*"]
  }

  # Athena's CTAS creates each staged version's table (and the refine drops staging entries and
  # a failed run's): only the zones' own tables.
  statement {
    sid       = "CreateAndDropZoneTables"
    actions   = ["glue:CreateTable", "glue:DeleteTable"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/trusted_*", "${local.glue_tables_arn}/refined_*"]
  }

  # The switch of a published table to its new version (movielake.refine.catalog.publish).
  statement {
    sid       = "SwitchZoneTables"
    actions   = ["glue:UpdateTable"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/trusted_*", "${local.glue_tables_arn}/refined_*"]
  }

  # The refine lease (movielake.lease): one refine at a time. PutObject is WriteZones';
  # releasing the lease needs DeleteObject, on the lease object alone.
  statement {
    sid       = "ReleaseRefineLease"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_arn}/${local.refined_prefix}_refine/lease.json"]
  }

  # Reading a held lease's holder, and the manifests: a version is tagged superseded only once
  # its run has ended (wrote its manifest), never while that run may still publish it. Unused
  # locally: by the end-to-end run's single refine, which has no older version and finds the
  # lease free; tests/test_refine.py and tests/test_refine_runs.py run later refines.
  statement {
    sid       = "ReadRefineRuns"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.refined_prefix}_refine/*"]
  }

  # Whether a superseded version is tagged already (it is then not tagged again). Unused
  # locally: by the end-to-end run's single refine, which has no older version.
  statement {
    sid       = "ReadVersionTags"
    actions   = ["s3:GetObjectTagging"]
    resources = ["${local.lake_arn}/${local.trusted_prefix}*", "${local.lake_arn}/${local.refined_prefix}*"]
  }

  # At the refine's deadline, the running query is stopped (movielake.refine.athena.stop)
  # rather than left to run, and bill, after the invocation ends. Unused locally: the
  # end-to-end run's refine ends well before its deadline; tests/test_refine_runs.py stops one.
  statement {
    sid       = "StopAthenaQueries"
    actions   = ["athena:StopQueryExecution"]
    resources = [aws_athena_workgroup.this["refine"].arn]
  }
}

locals {
  glue_catalog_arn  = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  glue_database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.glue_database_name}"
  glue_tables_arn   = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.glue_database_name}"

  lambda_policies = {
    csv_ingest   = data.aws_iam_policy_document.csv_ingest.json
    tmdb_planner = data.aws_iam_policy_document.tmdb_planner.json
    tmdb_worker  = data.aws_iam_policy_document.tmdb_worker.json
    refine       = data.aws_iam_policy_document.refine.json
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

# The crawler's own permissions, scoped to this lake and catalog (no managed
# AWSGlueServiceRole, which grants glue:* on *, bucket creation and EC2/IAM reads).
data "aws_iam_policy_document" "glue_crawler" {
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

  # Raw objects are SSE-KMS with the lake key.
  statement {
    sid       = "DecryptLake"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  # Glue authorizes catalog calls on the catalog, the database and the table together.
  statement {
    sid = "WriteRawCatalog"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:CreateTable",
      "glue:GetPartitions",
      "glue:BatchCreatePartition",
    ]
    resources = local.raw_catalog_arns
  }

  # Unused locally: a crawl after the first updates the table, and the partitions when the
  # schema widens; the end-to-end run crawls each table once.
  statement {
    sid       = "UpdateRawCatalog"
    actions   = ["glue:UpdateTable", "glue:BatchUpdatePartition"]
    resources = local.raw_catalog_arns
  }

  # Unused locally: the Glue service writes the crawler's logs; with the security
  # configuration (glue.tf) they go to /aws-glue/crawlers-role/<role>-<configuration>, a group
  # it creates and associates with the lake key. The local crawler stand-in writes no logs.
  statement {
    sid = "WriteCrawlerLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:AssociateKmsKey",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/crawlers*"]
  }

  # Unused locally: Glue encrypts the crawler's CloudWatch Logs with the lake key (security
  # configuration cloudwatch_encryption SSE-KMS); the Glue developer guide ("Setting up
  # encryption in AWS Glue") asks the crawler role for these key actions.
  statement {
    sid       = "EncryptCrawlerLogs"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "glue_crawler" {
  name   = "${local.prefix}-glue-crawler-access"
  role   = aws_iam_role.glue_crawler.id
  policy = data.aws_iam_policy_document.glue_crawler.json
}
