// the other half of the import cycle
import "./cycle_a.dlm"
