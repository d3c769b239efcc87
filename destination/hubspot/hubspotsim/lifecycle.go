package hubspotsim

import "slices"

// stageOrder is the order of HubSpot's default lifecycle stages.
var stageOrder = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}

// crmProperties are the CRM's own contact properties the simulator adds
// to defaultProperties.
var crmProperties = []Property{
	{"lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation", false},
	{"hubspot_owner_id", "Contact owner", "enumeration", "select", "contactinformation", false},
}

// setProperty sets one property of c as HubSpot does: lifecyclestage
// moves forward only; a write of an earlier stage is answered as a
// success and changes nothing, and "" clears it so that any stage may
// follow. It reports whether the value changed.
func setProperty(c *Contact, name, value string) bool {
	cur := c.Properties[name]
	if name == "lifecyclestage" && value != "" && cur != "" {
		if i, j := slices.Index(stageOrder, value), slices.Index(stageOrder, cur); i >= 0 && j >= 0 && i < j {
			return false
		}
	}
	if cur == value {
		return false
	}
	c.Properties[name] = value
	return true
}
