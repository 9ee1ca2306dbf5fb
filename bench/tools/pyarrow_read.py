"""The floor: only reading the current file with pyarrow (multithreaded), no statistics at all."""

import pyarrow.csv as pacsv
from common import arguments, report

args = arguments(__doc__)
pacsv.read_csv(args.current)
report(None)
