package appfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// decoder fills typed structs from a Node tree, reporting every problem with its
// position and field path, and recording where each field came from.
type decoder struct {
	p   *problems
	pos map[string]Source
	// chartValues leaves helm values undecoded: a chart defines its own values.
	chartValues bool
}

var valuesType = reflect.TypeFor[Values]()

var scalarIface = reflect.TypeFor[scalar]()

// decode fills rv (addressable) from n at path.
func (d *decoder) decode(n *Node, path string, rv reflect.Value) {
	if n == nil {
		return
	}
	d.pos[path] = n.Source
	if n.Null {
		return // an explicit null leaves the zero value
	}
	if rv.Kind() == reflect.Pointer {
		elem := reflect.New(rv.Type().Elem())
		d.decode(n, path, elem.Elem())
		rv.Set(elem)
		return
	}
	if rv.CanAddr() && rv.Addr().Type().Implements(scalarIface) {
		if d.scalarText(n, path, "a single value") {
			if err := rv.Addr().Interface().(scalar).setScalar(n.Scalar); err != nil {
				d.p.add(n.Source, path, "%s", err.Error())
			}
		}
		return
	}
	switch rv.Kind() {
	case reflect.Struct:
		if d.chartValues && rv.Type() == valuesType {
			return // a chart's values are the chart's to define
		}
		d.decodeStruct(n, path, rv)
	case reflect.Slice:
		if n.Kind != ListNode {
			d.p.add(n.Source, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(rv.Type(), len(n.Items), len(n.Items))
		for i, item := range n.Items {
			d.decode(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		rv.Set(s)
	case reflect.Map:
		if n.Kind != MapNode {
			d.p.add(n.Source, path, "expected a map of names to values, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(rv.Type(), len(n.Keys))
		for i, k := range n.Keys {
			v := reflect.New(rv.Type().Elem()).Elem()
			d.decode(n.Values[i], joinPath(path, k), v)
			m.SetMapIndex(reflect.ValueOf(k), v)
		}
		rv.Set(m)
	case reflect.String:
		if d.scalarText(n, path, "a string") {
			rv.SetString(n.Scalar)
		}
	case reflect.Bool:
		if d.scalarText(n, path, "true or false") {
			b, ok := parseBool(n.Scalar)
			if !ok {
				d.p.add(n.Source, path, "%q is not a boolean (expected true or false)", n.Scalar)
			}
			rv.SetBool(b)
		}
	case reflect.Int:
		if d.scalarText(n, path, "a whole number") {
			v, err := strconv.Atoi(strings.TrimSpace(n.Scalar))
			if err != nil {
				d.p.add(n.Source, path, "%q is not a whole number (expected a number such as 80)", n.Scalar)
			}
			rv.SetInt(int64(v))
		}
	default:
		d.p.add(n.Source, path, "cannot read a value of type %s", rv.Type())
	}
}

// scalarText checks that n is a scalar, reporting what was expected if not.
func (d *decoder) scalarText(n *Node, path, expected string) bool {
	if n.Kind == ScalarNode {
		return true
	}
	d.p.add(n.Source, path, "expected %s, got %s", expected, describe(n))
	return false
}

func (d *decoder) decodeStruct(n *Node, path string, rv reflect.Value) {
	if n.Kind != MapNode {
		d.p.add(n.Source, path, "expected a map of fields (%s), got %s", strings.Join(fieldNames(rv.Type()), ", "), describe(n))
		return
	}
	fields := fieldIndex(rv.Type())
	for i, k := range n.Keys {
		idx, ok := fields[k]
		if !ok {
			d.unknown(n.KeySources[i], path, k, rv.Type())
			continue
		}
		d.decode(n.Values[i], joinPath(path, k), rv.Field(idx))
	}
}

func (d *decoder) unknown(src Source, path, key string, t reflect.Type) {
	names := fieldNames(t)
	msg := fmt.Sprintf("unknown field %q", key)
	if s := suggest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += fmt.Sprintf(" (expected one of: %s)", strings.Join(names, ", "))
	}
	d.p.add(src, joinPath(path, key), "%s", msg)
}

// fieldIndex maps the yaml names of a struct's fields to their indexes.
func fieldIndex(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func describe(n *Node) string {
	switch n.Kind {
	case MapNode:
		return "a map"
	case ListNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Scalar)
}
