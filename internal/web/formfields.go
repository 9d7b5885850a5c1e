package web

import (
	"strings"
)

// inputField is what the shared "field" template draws: a label, one
// control, and the hint, error and "now in PVE" notes tied to it for screen
// readers (aria-describedby).
type inputField struct {
	ID, Name, Label, Type, Value string
	Error, Now, Hint             string
	Min, Max, Step               string
	Placeholder, Autocomplete    string
	Inputmode, Maxlength         string
	Autofocus, Checked           bool
	Options                      []option
}

// option is one choice of a select.
type option struct{ Value, Label string }

// Described lists the ids of the notes that describe the control.
func (f inputField) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Now != "" {
		ids = append(ids, f.ID+"-now")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// newInput builds an inputField for the template function "input":
// input ID LABEL TYPE FIELD [key=value ...], where the options are min,
// max, step, hint, placeholder, autocomplete, inputmode, maxlength,
// autofocus and
// options=value:label,value:label for selects.
func newInput(id, label, typ string, f *field, opts ...string) inputField {
	in := inputField{ID: id, Label: label, Type: typ}
	if f != nil {
		in.Name, in.Value, in.Error, in.Now = f.Key, f.Value, f.Error, f.Now
	}
	if typ == "checkbox" {
		in.Checked = in.Value == "1"
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "min":
			in.Min = v
		case "max":
			in.Max = v
		case "step":
			in.Step = v
		case "hint":
			in.Hint = v
		case "placeholder":
			in.Placeholder = v
		case "autocomplete":
			in.Autocomplete = v
		case "autofocus":
			in.Autofocus = true
		case "inputmode":
			in.Inputmode = v
		case "maxlength":
			in.Maxlength = v
		case "options":
			for item := range strings.SplitSeq(v, ",") {
				val, lab, _ := strings.Cut(item, ":")
				in.Options = append(in.Options, option{Value: val, Label: lab})
			}
		}
	}
	return in
}

// newField is the template function "field": a field with a name, label,
// value and error that is not one of a section's config keys.
func newField(name, label, value, err string) *field {
	return &field{Key: name, Label: label, Value: value, Error: err}
}

// ErrorFor returns the form-wide error when it belongs to section.
func (f settingsForms) ErrorFor(section string) string {
	if f.Section == section {
		return f.Error
	}
	return ""
}

// netFormData feeds the network form template.
type netFormData struct {
	View  containerView
	Forms settingsForms
}

// netRowFields feeds one interface's fields.
type netRowFields struct {
	Prefix string
	Row    netForm
}
