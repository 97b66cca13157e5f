# Catalog of the Raw zone: one database, one crawler per source (docs/architecture.md).
locals {
  # From the name, not the bucket resource, so plans show the real target paths.
  lake_s3_url = "s3://${local.lake_bucket_name}"

  # Partitions inherit the table's schema and compatible folders stay one table, so new
  # date folders add partitions instead of splitting the table.
  crawler_configuration = jsonencode({
    Version = 1
    CrawlerOutput = {
      Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
    }
    Grouping = {
      TableGroupingPolicy = "CombineCompatibleSchemas"
    }
  })

  # Crawlers and Athena skip names starting with "_" (manifests, run bookkeeping).
  crawler_exclusions = ["**/_*", "**/_*/**"]
}

resource "aws_glue_catalog_database" "raw" {
  name        = local.glue_database_name
  description = "movielake ${var.environment}: Raw tables (crawled: tmdb_*, csv_*) and the Trusted and Refined tables (trusted_*, refined_*: created and switched by the refine)"
}

resource "aws_glue_security_configuration" "this" {
  name = local.glue_security_config

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = aws_kms_key.this.arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = aws_kms_key.this.arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = aws_kms_key.this.arn
    }
  }
}

# The CSVs are pipe-delimited with a header row; without this classifier the built-in one
# may guess the delimiter or the header wrongly on small files.
resource "aws_glue_classifier" "csv" {
  count = var.create_csv_classifier ? 1 : 0

  name = local.csv_classifier_name

  csv_classifier {
    delimiter              = "|"
    quote_symbol           = "\""
    contains_header        = "PRESENT"
    allow_single_column    = false
    disable_value_trimming = false
  }
}

resource "aws_glue_crawler" "tmdb" {
  name                   = local.tmdb_crawler_name
  description            = "Raw TMDB NDJSON batches -> table tmdb_movies"
  database_name          = aws_glue_catalog_database.raw.name
  role                   = aws_iam_role.glue_crawler.arn
  table_prefix           = "tmdb_"
  configuration          = local.crawler_configuration
  security_configuration = aws_glue_security_configuration.this.name

  s3_target {
    path       = "${local.lake_s3_url}/${local.tmdb_json_prefix}"
    exclusions = concat(["**/erros_geral.json"], local.crawler_exclusions)
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  # Every crawl re-reads everything: incremental crawls (CRAWL_NEW_FOLDERS_ONLY) cannot be
  # combined with UPDATE_IN_DATABASE.
  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  depends_on = [aws_iam_role_policy.glue_crawler, aws_s3_bucket.this]
}

resource "aws_glue_crawler" "csv" {
  name                   = local.csv_crawler_name
  description            = "Ingested CSVs -> tables csv_movies and csv_series"
  database_name          = aws_glue_catalog_database.raw.name
  role                   = aws_iam_role.glue_crawler.arn
  table_prefix           = "csv_"
  classifiers            = aws_glue_classifier.csv[*].name
  configuration          = local.crawler_configuration
  security_configuration = aws_glue_security_configuration.this.name

  dynamic "s3_target" {
    for_each = ["Movies", "Series"]

    content {
      path       = "${local.lake_s3_url}/${local.raw_csv_prefix}${s3_target.value}/"
      exclusions = local.crawler_exclusions
    }
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  depends_on = [aws_iam_role_policy.glue_crawler, aws_s3_bucket.this]
}
