# Catalog of the Raw zone: one database, one crawler per source (docs/architecture.md).
locals {
  # From the name, not the bucket resource, so plans show the real target paths.
  lake_s3_url = "s3://${local.lake_bucket_name}"

  # Partitions inherit the table's schema and compatible folders stay one table, so new
  # date folders add partitions instead of splitting the table.
  crawler_output = {
    Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
  }
  crawler_configuration = jsonencode({
    Version       = 1
    CrawlerOutput = local.crawler_output
    Grouping = {
      TableGroupingPolicy = "CombineCompatibleSchemas"
    }
  })

  # The TMDB table's root is its target folder whatever the batches' schemas (the SQL names
  # tmdb_movies and partition_0..2): without a table level the crawler picks table roots by
  # comparing schemas (Glue guide, "Specifying the table location and partitioning level").
  # The level counts folders from the bucket: Raw/TMDB/JSON/Movies is level 4.
  tmdb_table_level = length(split("/", trimsuffix(local.tmdb_json_prefix, "/")))
  tmdb_crawler_configuration = jsonencode({
    Version       = 1
    CrawlerOutput = local.crawler_output
    Grouping = {
      TableGroupingPolicy     = "CombineCompatibleSchemas"
      TableLevelConfiguration = local.tmdb_table_level
    }
  })

  # Crawlers and Athena skip names starting with "_" (manifests, run bookkeeping).
  crawler_exclusions = ["**/_*", "**/_*/**"]

  # Date folders YYYY/MM/DD, named as a crawler names unnamed folders.
  date_partition_keys = [
    { name = "partition_0", comment = "run year, YYYY" },
    { name = "partition_1", comment = "run month, MM" },
    { name = "partition_2", comment = "run day, DD" },
  ]

  # The PB CSV columns in header order (movielake.ingest.schema), lower-cased as the catalog
  # stores names. Counts and years are bigint, the rating double; \N is NULL.
  csv_movie_columns = [
    { name = "id", type = "string" },
    { name = "titulopincipal", type = "string" },
    { name = "titulooriginal", type = "string" },
    { name = "anolancamento", type = "bigint" },
    { name = "tempominutos", type = "bigint" },
    { name = "genero", type = "string" },
    { name = "notamedia", type = "double" },
    { name = "numerovotos", type = "bigint" },
    { name = "generoartista", type = "string" },
    { name = "personagem", type = "string" },
    { name = "nomeartista", type = "string" },
    { name = "anonascimento", type = "bigint" },
    { name = "anofalecimento", type = "bigint" },
    { name = "profissao", type = "string" },
    { name = "titulosmaisconhecidos", type = "string" },
  ]

  csv_tables = {
    movies = { entity = "Movies", columns = local.csv_movie_columns }
    # Series add the year they ended right after the year they started.
    series = {
      entity = "Series"
      columns = concat(
        slice(local.csv_movie_columns, 0, 4),
        [{ name = "anotermino", type = "bigint" }],
        slice(local.csv_movie_columns, 4, length(local.csv_movie_columns)),
      )
    }
  }

  # Read by Athena (skip.header.line.count) and shown as the crawler shows CSV tables.
  csv_table_parameters = {
    classification           = "csv"
    delimiter                = "|"
    "skip.header.line.count" = "1"
    compressionType          = "none"
    typeOfData               = "file"
    areColumnsQuoted         = "false"
    columnsOrdered           = "true"
  }
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

resource "aws_glue_crawler" "tmdb" {
  name                   = local.tmdb_crawler_name
  description            = "Raw TMDB NDJSON batches -> table tmdb_movies"
  database_name          = aws_glue_catalog_database.raw.name
  role                   = aws_iam_role.glue_crawler.arn
  table_prefix           = "tmdb_"
  configuration          = local.tmdb_crawler_configuration
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

# The ingested CSV tables, declared here once: the local crawl and the DuckDB engine read them
# back from the Glue API, and the CSV crawler only adds their date partitions. Declaring them
# (instead of letting a crawler classify the files) pins the SerDe: a quoted value such as an
# IMDb character name could otherwise make Glue pick OpenCSVSerde, typing every column string
# and reading \N as text instead of NULL.
resource "aws_glue_catalog_table" "csv" {
  for_each = local.csv_tables

  name          = "csv_${each.key}"
  database_name = aws_glue_catalog_database.raw.name
  description   = "Ingested ${each.value.entity} CSVs (PB schema, movielake.ingest.schema), one partition per run date"
  table_type    = "EXTERNAL_TABLE"
  parameters    = local.csv_table_parameters

  dynamic "partition_keys" {
    for_each = local.date_partition_keys

    content {
      name    = partition_keys.value.name
      type    = "string"
      comment = partition_keys.value.comment
    }
  }

  storage_descriptor {
    location      = "${local.lake_s3_url}/${local.raw_csv_prefix}${each.value.entity}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    parameters    = local.csv_table_parameters

    ser_de_info {
      name                  = "pipe-delimited"
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
      parameters = {
        "field.delim"               = "|"
        "serialization.null.format" = "\\N"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

# Adds the new date folders of the declared CSV tables as partitions (inheriting the table's
# SerDe and columns) and never changes the tables themselves.
resource "aws_glue_crawler" "csv" {
  name                   = local.csv_crawler_name
  description            = "Date partitions of the declared tables csv_movies and csv_series"
  database_name          = aws_glue_catalog_database.raw.name
  role                   = aws_iam_role.glue_crawler.arn
  configuration          = local.crawler_configuration
  security_configuration = aws_glue_security_configuration.this.name

  catalog_target {
    database_name = aws_glue_catalog_database.raw.name
    tables        = [for table in aws_glue_catalog_table.csv : table.name]
  }

  # LOG both ways: a crawl never rewrites the declared schema nor drops a partition.
  schema_change_policy {
    update_behavior = "LOG"
    delete_behavior = "LOG"
  }

  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  depends_on = [aws_iam_role_policy.glue_crawler, aws_s3_bucket.this]
}
