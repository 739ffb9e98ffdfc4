package check

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tessbot/tessbot/tess"
)

// Defaults are the execution settings sent with every message: TESS_MODEL, TESS_TOOLS and
// TESS_TEMPERATURE. An empty field is not sent, so the agent's own setting applies.
type Defaults struct {
	Model       string
	Tools       string
	Temperature string
}

// String describes d for the check output.
func (d Defaults) String() string {
	var parts []string
	for _, f := range d.fields() {
		if f.value != "" {
			parts = append(parts, f.question+" "+f.value)
		}
	}
	if len(parts) == 0 {
		return "none set, so the agent's own settings apply"
	}
	return strings.Join(parts, ", ")
}

// Temperatures that Tess accepts when an agent lists no options for temperature.
const (
	minTemperature = 0
	maxTemperature = 2
)

type defaultField struct {
	question string // name of the agent's input field
	variable string // environment variable that sets it
	value    string
	set      func(*Defaults, string)
}

func (d Defaults) fields() []defaultField {
	return []defaultField{
		{"model", "TESS_MODEL", d.Model, func(d *Defaults, v string) { d.Model = v }},
		{"tools", "TESS_TOOLS", d.Tools, func(d *Defaults, v string) { d.Tools = v }},
		{"temperature", "TESS_TEMPERATURE", d.Temperature, func(d *Defaults, v string) { d.Temperature = v }},
	}
}

// ResolveDefaults checks each set field of d against the input field of the same name in
// agent's questions and returns d with each value spelt as the agent's option is. A value
// must be one of the question's options: model and tools compare without case, and
// temperature compares as a number, so "0.50" matches the option "0.5". A question without
// options accepts any model or tools and a temperature from 0 to 2. The error names every
// invalid variable and lists the allowed options.
//
// NOTE: a set value for an input the agent does not list is rejected, because the Tess
// docs do not say whether Tess applies it.
func ResolveDefaults(agent *tess.Agent, d Defaults) (Defaults, error) {
	out := d
	var errs []error
	for _, f := range d.fields() {
		if f.value == "" {
			continue
		}
		value, err := resolveField(agent, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.set(&out, value)
	}
	if len(errs) > 0 {
		return d, errors.Join(errs...)
	}
	return out, nil
}

// resolveField returns the agent's spelling of f.value, or an error naming f.variable.
func resolveField(agent *tess.Agent, f defaultField) (string, error) {
	q, ok := agent.Question(f.question)
	if !ok {
		return "", fmt.Errorf("invalid %s %q: agent %d (%q) has no %s input; leave %s empty",
			f.variable, f.value, agent.ID, agent.Title, f.question, f.variable)
	}
	if len(q.Options) == 0 {
		if f.question == "temperature" {
			return f.value, checkTemperature(f.value)
		}
		return f.value, nil
	}
	for _, option := range q.Options {
		if sameOption(f.question, f.value, option) {
			return option, nil
		}
	}
	return "", fmt.Errorf("invalid %s %q for agent %d (%q): allowed values are %s",
		f.variable, f.value, agent.ID, agent.Title, strings.Join(q.Options, ", "))
}

// sameOption reports whether value selects option of question.
func sameOption(question, value, option string) bool {
	if question != "temperature" {
		return strings.EqualFold(strings.TrimSpace(value), strings.TrimSpace(option))
	}
	v, err1 := strconv.ParseFloat(strings.TrimSpace(value), 64)
	o, err2 := strconv.ParseFloat(strings.TrimSpace(option), 64)
	if err1 != nil || err2 != nil {
		return strings.TrimSpace(value) == strings.TrimSpace(option)
	}
	return v == o
}

func checkTemperature(value string) error {
	t, err := strconv.ParseFloat(value, 64)
	if err != nil || !(t >= minTemperature && t <= maxTemperature) {
		return fmt.Errorf("invalid TESS_TEMPERATURE %q: expected a number from %d to %d",
			value, minTemperature, maxTemperature)
	}
	return nil
}
