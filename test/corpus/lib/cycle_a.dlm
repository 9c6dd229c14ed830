// half of an import cycle used by the broken-program corpus
import "./cycle_b.dlm"
