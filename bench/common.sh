# Shared by bench/run and bench/soak: the database server and the standard dataset.
pghost=${PGHOST:-127.0.0.1}
pgport=${PGPORT:-5432}
pguser=${PGUSER:-postgres}

psql_() { psql -h "$pghost" -p "$pgport" -U "$pguser" -X -q -v ON_ERROR_STOP=1 "$@"; }

# load_standard BIN URL DB [SCALE]: migrates DB with BIN, loads bench/dataset.sql into it
# (SCALE times 10,000 customers, 1 unless given) and rebuilds the kept figures, as an
# integration that loads rows by SQL does.
load_standard() {
    DATABASE_URL=$2 RUST_LOG=error $1 migrate >/dev/null
    psql_ -d "$3" -v scale="${4:-1}" -f bench/dataset.sql >/dev/null
    DATABASE_URL=$2 RUST_LOG=error $1 rollups rebuild >/dev/null
    psql_ -d "$3" -c "VACUUM ANALYZE"
}

rss_kib() { awk -v f="$2" '$1 == f {print $2}' "/proc/$1/status"; }
