/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The `safegrid analyze` command over the cases in a database (src/analysis/analyze_db.c); over
 * input files it is sg_analyze_cli (include/safegrid/stats.h).
 */
#ifndef SAFEGRID_ANALYZE_H
#define SAFEGRID_ANALYZE_H

/** Runs `safegrid analyze gistar|scan|surge` (argv[0] == "analyze"). With --db PATH the
 *  input is the database's cases: --level (county, township, community or grid; default
 *  grid), --type, --category, --from and --to (dates, read in --tz, default UTC) choose
 *  them, and --keep DIR keeps the files written for the analysis; every other option goes
 *  to the analysis. Without --db it is sg_analyze_cli. Returns the exit code: 0, 1 on an
 *  error (one line on stderr), 2 on bad usage. */
int sg_analyze_db_cli(int argc, char **argv);

#endif
