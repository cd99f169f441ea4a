# Shared by the benchmarks that run AIDE beside `shouwang guard`.

# aide_conf WORK TREE: an AIDE config in WORK checking TREE with the same
# attributes the guard's baseline records (permissions, owner, size,
# mtime, a content hash), its database in WORK.
aide_conf() {
    cat > "$1/aide.conf" <<CONF
database_in=file:$1/aide.db
database_out=file:$1/aide.db.new
gzip_dbout=no
report_url=stdout
Bench = p+u+g+s+m+sha256
$2 Bench
CONF
}
