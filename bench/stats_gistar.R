# Peer for bench/bench_stats.c: R spdep's Gi* on the counts the benchmark passes in.
# Usage: Rscript bench/stats_gistar.R poly|grid IN.csv OUT.csv NX NY
#   poly: queen contiguity of the Belo Horizonte polygons (BairroBH.MIF, poly2nb);
#   grid: cell2nb(NY, NX, "queen"), cells numbered row by row as in the benchmark.
# Self included, binary weights. Writes "seconds of localG,seconds of localG_perm" and then
# spdep's z-values, one per line, to OUT.csv. Only localG and localG_perm are timed (not
# reading files or building neighbours), the same work as the timed C calls.
suppressMessages({library(spdep); library(sf)})
a <- commandArgs(trailingOnly = TRUE)
x <- read.csv(a[2])$count
if (a[1] == "poly") {
  poly <- st_read("/usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF", quiet = TRUE)
  st_crs(poly) <- NA
  nb <- poly2nb(poly, queen = TRUE)
} else {
  nb <- cell2nb(as.integer(a[5]), as.integer(a[4]), type = "queen")
}
lw <- nb2listw(include.self(nb), style = "B")
t1 <- system.time(g <- localG(x, lw))[["elapsed"]]
t2 <- system.time(gp <- localG_perm(x, lw, nsim = 999, iseed = 1))[["elapsed"]]
writeLines(c(sprintf("%.4f,%.4f", t1, t2), sprintf("%.17g", as.numeric(g))), a[3])
