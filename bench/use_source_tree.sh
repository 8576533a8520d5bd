# Sourced by the GPU scripts: `import trashseg.*` finds this checkout without installing it. A lent GPU machine gets a
# copy of the working tree and no virtual environment, and the folders install as trashseg.components, ... (see
# pyproject.toml), so a throwaway `trashseg` package whose __path__ is the repository root stands in for the install.
_trashseg_shim=$(mktemp -d)
mkdir -p "$_trashseg_shim/trashseg"
printf '__path__ = [%s]\n' "'$PWD'" > "$_trashseg_shim/trashseg/__init__.py"
export PYTHONPATH="$_trashseg_shim:$PWD${PYTHONPATH:+:$PYTHONPATH}"
trap 'rm -rf "$_trashseg_shim"' EXIT
