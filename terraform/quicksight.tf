################################################################################
# QuickSight over Athena (opt in: enable_quicksight; never on the local stack)
#
# An Athena data source on the workgroup, two data sets over the Refined tables (direct
# query: QuickSight asks Athena, nothing is copied into SPICE), the QuickSight service role's
# read access to the lake's Refined zone, the query results and the KMS key, and a dashboard
# with one visual per question of sql/q*.sql, shared with var.quicksight_principal_arn.
# What cannot be automated (the account's QuickSight subscription, the console's grant of the
# buckets to QuickSight, termination protection) is in the README. moto implements none of
# these calls, so the local stack never creates them (local.quicksight_enabled).
################################################################################

locals {
  quicksight_enabled = var.enable_quicksight && !local.is_local
  quicksight_count   = local.quicksight_enabled ? 1 : 0

  quicksight_data_source_id = "${local.prefix}-athena"
  quicksight_dashboard_id   = "${local.prefix}-questions"
  quicksight_film_facts     = "film_facts"   # the data sets' identifiers in the dashboard
  quicksight_artist_films   = "artist_films" # definition (data_set_identifier)

  # The columns of refined_film_facts (sql/refined/film_facts.sql) the visuals use, with their
  # QuickSight types; genres (an array) and the IMDb columns are left out.
  quicksight_film_columns = {
    imdb_id       = "STRING"
    title         = "STRING"
    release_year  = "INTEGER"
    release_month = "INTEGER"
    decade        = "INTEGER"
    budget        = "INTEGER"
    revenue       = "INTEGER"
    roi           = "DECIMAL"
    is_hit        = "BOOLEAN"
    popularity    = "DECIMAL"
    vote_average  = "DECIMAL"
    vote_count    = "INTEGER"
  }

  # What the principal may do: use (not edit) the data source and data sets, view the dashboard.
  quicksight_data_source_actions = [
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
  ]
  quicksight_data_set_actions = [
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
  ]
  quicksight_dashboard_actions = [
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard",
  ]
}

# A warning, not an error: the local stack's plans go on, without QuickSight.
check "quicksight_is_off_on_the_local_stack" {
  assert {
    condition     = !(var.enable_quicksight && local.is_local)
    error_message = "enable_quicksight is ignored on the local stack: moto implements no QuickSight call."
  }
}

resource "aws_quicksight_data_source" "athena" {
  count = local.quicksight_count

  data_source_id = local.quicksight_data_source_id
  name           = "movielake ${var.environment} (Athena)"
  type           = "ATHENA"

  parameters {
    athena {
      work_group = aws_athena_workgroup.this["analyses"].name
    }
  }

  ssl_properties {
    disable_ssl = false
  }

  permission {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_source_actions
  }

  lifecycle {
    precondition {
      condition     = var.quicksight_principal_arn != ""
      error_message = "enable_quicksight needs quicksight_principal_arn: the QuickSight user or group the dashboard is shared with."
    }
  }

  depends_on = [aws_iam_role_policy.quicksight_lake]
}

resource "aws_quicksight_data_set" "film_facts" {
  count = local.quicksight_count

  data_set_id = "${local.prefix}-refined-film-facts"
  name        = "movielake ${var.environment}: refined_film_facts"
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "refined-film-facts"

    relational_table {
      data_source_arn = aws_quicksight_data_source.athena[0].arn
      catalog         = "AwsDataCatalog"
      schema          = aws_glue_catalog_database.raw.name
      name            = "refined_film_facts"

      dynamic "input_columns" {
        for_each = local.quicksight_film_columns

        content {
          name = input_columns.key
          type = input_columns.value
        }
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_set_actions
  }
}

# The artists' films with the figures Q4 averages: refined_artist_films joined to
# refined_film_facts, as sql/q4_top_artists.sql joins them.
resource "aws_quicksight_data_set" "artist_films" {
  count = local.quicksight_count

  data_set_id = "${local.prefix}-refined-artist-films"
  name        = "movielake ${var.environment}: refined_artist_films"
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "refined-artist-films"

    custom_sql {
      data_source_arn = aws_quicksight_data_source.athena[0].arn
      name            = "refined_artist_films"
      sql_query       = <<-SQL
        SELECT a.artist, a.imdb_id, f.revenue, f.vote_average, f.popularity
        FROM "${aws_glue_catalog_database.raw.name}"."refined_artist_films" AS a
        INNER JOIN "${aws_glue_catalog_database.raw.name}"."refined_film_facts" AS f ON f.imdb_id = a.imdb_id
      SQL

      columns {
        name = "artist"
        type = "STRING"
      }
      columns {
        name = "imdb_id"
        type = "STRING"
      }
      columns {
        name = "revenue"
        type = "INTEGER"
      }
      columns {
        name = "vote_average"
        type = "DECIMAL"
      }
      columns {
        name = "popularity"
        type = "DECIMAL"
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_set_actions
  }
}

# One visual per question, over the two data sets; the SQL files stay the answers' definition
# (Q3's quintiles, Q5's coefficients and Q7's percentile thresholds are theirs): the visuals
# show the films behind them.
resource "aws_quicksight_dashboard" "questions" {
  count = local.quicksight_count

  dashboard_id        = local.quicksight_dashboard_id
  name                = "movielake ${var.environment}: the seven questions"
  version_description = "Managed by Terraform (terraform/quicksight.tf)"

  definition {
    data_set_identifiers_declarations {
      identifier   = local.quicksight_film_facts
      data_set_arn = aws_quicksight_data_set.film_facts[0].arn
    }
    data_set_identifiers_declarations {
      identifier   = local.quicksight_artist_films
      data_set_arn = aws_quicksight_data_set.artist_films[0].arn
    }

    sheets {
      sheet_id = "questions"
      name     = "Questions"

      # Q1: which films returned the most per dollar of budget.
      visuals {
        table_visual {
          visual_id = "q1-roi"
          title {
            format_text {
              plain_text = "Q1 Return on investment per film"
            }
          }
          chart_configuration {
            field_wells {
              table_unaggregated_field_wells {
                dynamic "values" {
                  for_each = ["title", "release_year", "budget", "revenue", "roi"]
                  content {
                    field_id = "q1-${values.value}"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = values.value
                    }
                  }
                }
              }
            }
            sort_configuration {
              row_sort {
                field_sort {
                  field_id  = "q1-roi"
                  direction = "DESC"
                }
              }
            }
          }
        }
      }

      # Q2: average ROI per decade of release.
      visuals {
        bar_chart_visual {
          visual_id = "q2-roi-by-decade"
          title {
            format_text {
              plain_text = "Q2 ROI by decade of release"
            }
          }
          chart_configuration {
            field_wells {
              bar_chart_aggregated_field_wells {
                category {
                  numerical_dimension_field {
                    field_id = "q2-decade"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "decade"
                    }
                  }
                }
                values {
                  numerical_measure_field {
                    field_id = "q2-avg-roi"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "roi"
                    }
                    aggregation_function {
                      simple_numerical_aggregation = "AVERAGE"
                    }
                  }
                }
              }
            }
          }
        }
      }

      # Q3: budget against revenue, a point per film.
      visuals {
        scatter_plot_visual {
          visual_id = "q3-budget-vs-revenue"
          title {
            format_text {
              plain_text = "Q3 Budget versus revenue"
            }
          }
          chart_configuration {
            field_wells {
              scatter_plot_unaggregated_field_wells {
                x_axis {
                  numerical_dimension_field {
                    field_id = "q3-budget"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "budget"
                    }
                  }
                }
                y_axis {
                  numerical_dimension_field {
                    field_id = "q3-revenue"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "revenue"
                    }
                  }
                }
              }
            }
          }
        }
      }

      # Q4: per artist, films (frequency) against their films' average revenue, sized by vote.
      visuals {
        scatter_plot_visual {
          visual_id = "q4-top-artists"
          title {
            format_text {
              plain_text = "Q4 Artists: films against average revenue (size: average vote)"
            }
          }
          chart_configuration {
            field_wells {
              scatter_plot_categorically_aggregated_field_wells {
                category {
                  categorical_dimension_field {
                    field_id = "q4-artist"
                    column {
                      data_set_identifier = local.quicksight_artist_films
                      column_name         = "artist"
                    }
                  }
                }
                x_axis {
                  categorical_measure_field {
                    field_id             = "q4-films"
                    aggregation_function = "DISTINCT_COUNT"
                    column {
                      data_set_identifier = local.quicksight_artist_films
                      column_name         = "imdb_id"
                    }
                  }
                }
                y_axis {
                  numerical_measure_field {
                    field_id = "q4-avg-revenue"
                    column {
                      data_set_identifier = local.quicksight_artist_films
                      column_name         = "revenue"
                    }
                    aggregation_function {
                      simple_numerical_aggregation = "AVERAGE"
                    }
                  }
                }
                size {
                  numerical_measure_field {
                    field_id = "q4-avg-vote"
                    column {
                      data_set_identifier = local.quicksight_artist_films
                      column_name         = "vote_average"
                    }
                    aggregation_function {
                      simple_numerical_aggregation = "AVERAGE"
                    }
                  }
                }
              }
            }
          }
        }
      }

      # Q5: vote average against popularity, a point per film.
      visuals {
        scatter_plot_visual {
          visual_id = "q5-critics-vs-popularity"
          title {
            format_text {
              plain_text = "Q5 Critics versus popularity"
            }
          }
          chart_configuration {
            field_wells {
              scatter_plot_unaggregated_field_wells {
                x_axis {
                  numerical_dimension_field {
                    field_id = "q5-vote-average"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "vote_average"
                    }
                  }
                }
                y_axis {
                  numerical_dimension_field {
                    field_id = "q5-popularity"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "popularity"
                    }
                  }
                }
              }
            }
          }
        }
      }

      # Q6: films per month of release, hits (is_hit) apart.
      visuals {
        bar_chart_visual {
          visual_id = "q6-seasonality"
          title {
            format_text {
              plain_text = "Q6 Seasonality of hits"
            }
          }
          chart_configuration {
            bars_arrangement = "STACKED"
            field_wells {
              bar_chart_aggregated_field_wells {
                category {
                  numerical_dimension_field {
                    field_id = "q6-month"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "release_month"
                    }
                  }
                }
                colors {
                  categorical_dimension_field {
                    field_id = "q6-is-hit"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "is_hit"
                    }
                  }
                }
                values {
                  categorical_measure_field {
                    field_id             = "q6-films"
                    aggregation_function = "COUNT"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = "imdb_id"
                    }
                  }
                }
              }
            }
          }
        }
      }

      # Q7: the films by ROI with their vote counts (the gems: few votes, a top-tenth ROI).
      visuals {
        table_visual {
          visual_id = "q7-hidden-gems"
          title {
            format_text {
              plain_text = "Q7 Hidden gems: ROI and votes"
            }
          }
          chart_configuration {
            field_wells {
              table_unaggregated_field_wells {
                dynamic "values" {
                  for_each = ["title", "release_year", "vote_count", "roi"]
                  content {
                    field_id = "q7-${values.value}"
                    column {
                      data_set_identifier = local.quicksight_film_facts
                      column_name         = values.value
                    }
                  }
                }
              }
            }
            sort_configuration {
              row_sort {
                field_sort {
                  field_id  = "q7-roi"
                  direction = "DESC"
                }
              }
            }
          }
        }
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_dashboard_actions
  }
}

# The QuickSight service role (made by the subscription, not by this module) reads what the
# data sets query through Athena: the Refined zone, the workgroup's results, the KMS key.
data "aws_iam_policy_document" "quicksight_lake" {
  count = local.quicksight_count

  statement {
    sid       = "RunAthenaQueries"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.this["analyses"].arn]
  }

  statement {
    sid       = "ReadRefinedCatalog"
    actions   = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, "${local.glue_tables_arn}/refined_*"]
  }

  statement {
    sid       = "ReadRefinedZone"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_arn}/${local.refined_prefix}*"]
  }

  statement {
    sid       = "ListRefinedZone"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.refined_prefix}*"]
    }
  }

  # Athena checks the bucket of every location it reads or writes.
  statement {
    sid       = "LocateBuckets"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.lake_arn, aws_s3_bucket.this["athena_results"].arn]
  }

  # The workgroup's output location: Athena writes the results there for QuickSight to read.
  statement {
    sid       = "AthenaResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.this["athena_results"].arn}/athena/*"]
  }

  statement {
    sid       = "ListAthenaResults"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["athena_results"].arn]
  }

  # The lake and the results are encrypted with the module's key (the key policy delegates to IAM).
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "quicksight_lake" {
  count = local.quicksight_count

  name   = "${local.prefix}-quicksight-lake"
  role   = var.quicksight_service_role_name
  policy = data.aws_iam_policy_document.quicksight_lake[0].json
}
