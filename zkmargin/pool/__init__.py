"""The private margin pool: reserves, notes, trees and transitions."""
